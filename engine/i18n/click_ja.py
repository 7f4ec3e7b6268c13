"""click's own words (`Usage:`, `Options`, `Show this message and exit.`, its errors) in
Japanese, when the command line speaks Japanese.

click 8.x reads its strings through `gettext` (`from gettext import gettext as _` in each of
its modules), under no domain of its own; installing a translation for the whole process
would reach other libraries too. So the names `_` and `ngettext` of click's modules are
replaced, once, by functions that look the message up here while the language is `ja` and
give click's English otherwise (a test process switches between the two). Small and
import-free: `kaigi --help` reads it on every start.
"""

import sys

_LANG = ["en"]

JA: dict[str, str] = {
    "Usage:": "使い方:",
    "Options": "オプション",
    "Commands": "コマンド",
    "Positional arguments": "引数",
    "Show this message and exit.": "この説明を表示して終了します。",
    "Show the version and exit.": "版を表示して終了します。",
    "Confirm the action without prompting.": "確認を求めずに実行します。",
    "%(prog)s, version %(version)s": "%(prog)s 版 %(version)s",
    "Error: {message}": "エラー: {message}",
    "Try '{command} {option}' for help.": "説明は '{command} {option}' で表示できます。",
    "No such option {name!r}.": "オプション {name!r} はありません。",
    "No such command {name!r}.": "コマンド {name!r} はありません。",
    "Missing command.": "コマンドを指定してください。",
    "Missing argument": "次の引数がありません:",
    "Missing option": "次のオプションがありません:",
    "Missing parameter": "次の指定がありません:",
    "Missing {param_type}": "{param_type} が足りません",
    "Missing parameter: {param_name}": "指定が足りません: {param_name}",
    "Invalid value for {param_hint}: {message}": "{param_hint} の値が正しくありません: {message}",
    "Invalid value: {message}": "値が正しくありません: {message}",
    "Option {name!r} does not take a value.": "オプション {name!r} は値をとりません。",
    "Argument {name!r} takes {nargs} values.": "引数 {name!r} は {nargs} 個の値をとります。",
    "Aborted!": "中止しました。",
    "Choose from:\n\t{choices}": "次から選んでください:\n\t{choices}",
    "default: {default}": "既定値: {default}",
    "env var: {var}": "環境変数: {var}",
    "deprecated": "廃止予定",
    "(dynamic)": "(実行時に決定)",
    "unknown error": "不明なエラー",
    "Could not open file {filename!r}: {message}": "ファイル {filename!r} を開けません: {message}",
    "{name} {filename!r} does not exist.": "{name} {filename!r} はありません。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} はディレクトリです。",
    "{name} {filename!r} is a file.": "{name} {filename!r} はファイルです。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} を読めません。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} に書き込めません。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} を実行できません。",
    "file": "ファイル",
    "directory": "ディレクトリ",
    "path": "パス",
    "{value!r} is not a valid {number_type}.": "{value!r} は数値ではありません。",
    "{value} is not in the range {range}.": "{value} は範囲 {range} の外です。",
    "{value!r} is not a valid UUID.": "{value!r} は正しい UUID ではありません。",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "{value!r} は真偽値ではありません。使える値: {states}",
    "Press any key to continue...": "続けるには何かキーを押してください...",
    "Do you want to continue?": "続けますか?",
    "Repeat for confirmation": "確認のためもう一度入力してください",
    "Error: The two entered values do not match.": "エラー: 二つの入力が一致しません。",
    "Error: invalid input": "エラー: 入力が正しくありません",
    "Value must be an iterable.": "値は並びでなければなりません。",
}

JA_PLURAL: dict[str, str] = {  # singular msgid -> Japanese (no plural forms)
    "Got unexpected extra argument ({args})": "余分な引数があります({args})",
    "Option {name!r} requires an argument.": "オプション {name!r} には値が必要です。",
    "{value!r} is not {choice}.": "{value!r} は {choice} ではありません。",
    "{value!r} is not one of {choices}.": "{value!r} は {choices} のいずれでもありません。",
    "{value!r} does not match the format {format}.": "{value!r} は形式 {format} に合いません。",
    "{value!r} does not match the formats {formats}.": "{value!r} は形式 {formats} のいずれにも合いません。",
    "Did you mean {possibility}?": "{possibility} のことですか?",
    "(Did you mean one of: {possibilities}?)": "({possibilities} のいずれかのことですか?)",
    "Takes {nargs} values but 1 was given.": "{nargs} 個の値が必要ですが、1 個しかありません。",
    "{len_type} values are required, but {len_value} was given.":
        "{len_type} 個の値が必要ですが、{len_value} 個です。",
}
# click's plural msgids whose singular differs from the one looked up
_PLURAL_OF = {"{value!r} is not one of {choices}.": "{value!r} は {choices} のいずれでもありません。",
              "(Did you mean one of: {possibilities}?)": "({possibilities} のいずれかのことですか?)","Option {name!r} requires {nargs} arguments.": "オプション {name!r} には {nargs} 個の値が必要です。",
              "Got unexpected extra arguments ({args})": "余分な引数があります({args})",
              "Takes {nargs} values but {len} were given.": "{nargs} 個の値が必要ですが、{len} 個です。",
              "{len_type} values are required, but {len_value} were given.":
                  "{len_type} 個の値が必要ですが、{len_value} 個です。"}

_MODULES = ("click.core", "click.exceptions", "click.formatting", "click.parser", "click.types",
            "click.decorators", "click.termui", "click._termui_impl")
_installed: list[bool] = []


def _gettext(message: str) -> str:
    return JA.get(message, message) if _LANG[0] == "ja" else message


def words(message: str) -> str:
    """One of click's messages in the language in use."""
    return _gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    if _LANG[0] == "ja":
        said = JA_PLURAL.get(singular) if n == 1 else (_PLURAL_OF.get(plural) or JA_PLURAL.get(singular))
        if said is not None:
            return said
    return singular if n == 1 else plural


def use(lang: str) -> None:
    """click speaks `lang` from now on in this process (`ja`, else its own English)."""
    _LANG[0] = "ja" if lang == "ja" else "en"
    if not _installed:
        for name in _MODULES:
            mod = sys.modules.get(name)
            if mod is None:
                continue
            if hasattr(mod, "_"):
                mod._ = _gettext  # type: ignore[attr-defined]
            if hasattr(mod, "ngettext"):
                mod.ngettext = _ngettext  # type: ignore[attr-defined]
        _installed.append(True)


def current() -> str | None:
    """The language the command line asked for, once `use` has been called (before parsing)."""
    return _LANG[0] if _installed else None


USAGE_JA = {"[OPTIONS]": "[オプション]", "COMMAND [ARGS]...": "コマンド [引数]..."}


def usage(pieces: list[str]) -> list[str]:
    """A usage line's pieces in the language in use (`[OPTIONS]` -> `[オプション]`)."""
    return [USAGE_JA.get(p, p) for p in pieces] if _LANG[0] == "ja" else pieces


def language(args: list[str], env: str | None, default: str = "ja") -> str:
    """The language a `kaigi` command line asks for, read before click parses it: the root's
    `--lang` (not a subcommand's, `roster add --lang` is the member's), else KAIGI_LANG."""
    takes_value = {"--db", "--as", "--lang"}
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("--lang="):
            return a.split("=", 1)[1]
        if a == "--lang":
            return args[i + 1] if i + 1 < len(args) else (env or default)
        if a in takes_value:
            i += 2
            continue
        if not a.startswith("-"):
            break  # the subcommand: its options are its own
        i += 1
    return env if env in ("ja", "en") else default

