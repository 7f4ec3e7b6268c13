"""Settings: --db over the environment over kaigi.toml over defaults; file location and shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.infra.settings import Settings, load_settings, sqlite_file


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


class TestDefaults:
    def test_nothing_set(self, tmp_path: Path) -> None:
        """With no option, environment or file: kaigi.db in cwd, no SMTP, no outbox, no log file."""
        settings = load_settings({}, cwd=tmp_path)
        assert Settings(
            db_url="sqlite:///" + str(tmp_path / "kaigi.db"),
            smtp_url=None,
            mail_from="kaigi@localhost",
            outbox=None,
            log_file=None,
            config_path=None,
        ) == settings

    def test_empty_environment_values_count_as_unset(self, tmp_path: Path) -> None:
        """KAIGI_X= (empty) behaves as if it were not set."""
        settings = load_settings({"KAIGI_DB": "", "KAIGI_MAIL_FROM": "", "KAIGI_OUTBOX": ""}, cwd=tmp_path)
        assert "sqlite:///" + str(tmp_path / "kaigi.db") == settings.db_url
        assert "kaigi@localhost" == settings.mail_from
        assert settings.outbox is None

    def test_other_variables_ignored(self, tmp_path: Path) -> None:
        """Only KAIGI_* variables are read."""
        settings = load_settings({"SMTP_URL": "smtp://x", "DB": "sqlite:///x"}, cwd=tmp_path)
        assert settings.smtp_url is None


class TestPrecedence:
    FILE = """
db = "postgresql+psycopg://file/kaigi"
smtp_url = "smtp://file:25"
mail_from = "file@example.jp"
outbox = "file-outbox.jsonl"
log = "file.log"
"""

    def test_file_used_when_nothing_else(self, tmp_path: Path) -> None:
        """Values come from cwd/kaigi.toml when neither option nor environment sets them."""
        write(tmp_path / "kaigi.toml", self.FILE)
        settings = load_settings({}, cwd=tmp_path)
        assert "postgresql+psycopg://file/kaigi" == settings.db_url
        assert "smtp://file:25" == settings.smtp_url
        assert "file@example.jp" == settings.mail_from
        assert tmp_path / "file-outbox.jsonl" == settings.outbox
        assert tmp_path / "file.log" == settings.log_file
        assert tmp_path / "kaigi.toml" == settings.config_path

    def test_environment_overrides_file(self, tmp_path: Path) -> None:
        """Every KAIGI_* variable beats the file; relative paths in it are from cwd."""
        write(tmp_path / "kaigi.toml", self.FILE)
        env = {
            "KAIGI_DB": "postgresql+psycopg://env/kaigi",
            "KAIGI_SMTP_URL": "smtp://env:25",
            "KAIGI_MAIL_FROM": "env@example.jp",
            "KAIGI_OUTBOX": "env-outbox.jsonl",
            "KAIGI_LOG": "/var/log/kaigi.log",
        }
        settings = load_settings(env, cwd=tmp_path)
        assert "postgresql+psycopg://env/kaigi" == settings.db_url
        assert "smtp://env:25" == settings.smtp_url
        assert "env@example.jp" == settings.mail_from
        assert tmp_path / "env-outbox.jsonl" == settings.outbox
        assert Path("/var/log/kaigi.log") == settings.log_file

    def test_option_overrides_environment(self, tmp_path: Path) -> None:
        """--db beats KAIGI_DB and the file."""
        write(tmp_path / "kaigi.toml", self.FILE)
        settings = load_settings(
            {"KAIGI_DB": "postgresql+psycopg://env/kaigi"}, db_url="postgresql+psycopg://opt/kaigi", cwd=tmp_path
        )
        assert "postgresql+psycopg://opt/kaigi" == settings.db_url
        assert "smtp://file:25" == settings.smtp_url  # the file still supplies the rest


class TestConfigLocation:
    def test_beside_sqlite_database(self, tmp_path: Path) -> None:
        """With a SQLite --db, kaigi.toml is read from the database's folder, not cwd."""
        data = tmp_path / "data"
        write(data / "kaigi.toml", 'mail_from = "beside@example.jp"\n')
        write(tmp_path / "kaigi.toml", 'mail_from = "cwd@example.jp"\n')
        settings = load_settings({}, db_url="sqlite:///" + str(data / "kaigi.db"), cwd=tmp_path)
        assert "beside@example.jp" == settings.mail_from
        assert data / "kaigi.toml" == settings.config_path

    def test_beside_relative_sqlite_from_environment(self, tmp_path: Path) -> None:
        """A relative SQLite path in KAIGI_DB is found from cwd, and its folder holds kaigi.toml."""
        write(tmp_path / "sub" / "kaigi.toml", 'mail_from = "sub@example.jp"\n')
        settings = load_settings({"KAIGI_DB": "sqlite:///sub/kaigi.db"}, cwd=tmp_path)
        assert "sub@example.jp" == settings.mail_from
        assert "sqlite:///sub/kaigi.db" == settings.db_url

    def test_non_sqlite_uses_cwd(self, tmp_path: Path) -> None:
        """A PostgreSQL --db has no folder, so cwd/kaigi.toml is read."""
        write(tmp_path / "kaigi.toml", 'mail_from = "cwd@example.jp"\n')
        settings = load_settings({}, db_url="postgresql+psycopg://u:pw@h/kaigi", cwd=tmp_path)
        assert "cwd@example.jp" == settings.mail_from

    def test_memory_sqlite_uses_cwd(self, tmp_path: Path) -> None:
        """An in-memory SQLite database has no folder either."""
        write(tmp_path / "kaigi.toml", 'mail_from = "cwd@example.jp"\n')
        assert "cwd@example.jp" == load_settings({}, db_url="sqlite://", cwd=tmp_path).mail_from

    def test_kaigi_config_wins(self, tmp_path: Path) -> None:
        """KAIGI_CONFIG names the file (relative to cwd), whatever the database is."""
        write(tmp_path / "etc" / "site.toml", 'mail_from = "site@example.jp"\n')
        write(tmp_path / "kaigi.toml", 'mail_from = "cwd@example.jp"\n')
        settings = load_settings({"KAIGI_CONFIG": "etc/site.toml"}, cwd=tmp_path)
        assert "site@example.jp" == settings.mail_from
        assert tmp_path / "etc" / "site.toml" == settings.config_path

    def test_kaigi_config_missing_is_an_error(self, tmp_path: Path) -> None:
        """A file named by KAIGI_CONFIG must exist."""
        with pytest.raises(ValueError) as excinfo:
            load_settings({"KAIGI_CONFIG": "nope.toml"}, cwd=tmp_path)
        assert str(tmp_path / "nope.toml") in str(excinfo.value)
        assert "not found" in str(excinfo.value)

    def test_file_db_found_in_cwd(self, tmp_path: Path) -> None:
        """Without --db or KAIGI_DB, the db key of cwd/kaigi.toml is used."""
        write(tmp_path / "kaigi.toml", 'db = "sqlite:////srv/kaigi/kaigi.db"\n')
        assert "sqlite:////srv/kaigi/kaigi.db" == load_settings({}, cwd=tmp_path).db_url


class TestFileShapes:
    def test_kaigi_table(self, tmp_path: Path) -> None:
        """Keys may live under a [kaigi] table; other tables are left to their owners."""
        write(
            tmp_path / "kaigi.toml",
            '[kaigi]\nsmtp_url = "smtp://h:25"\nmail_from = "t@example.jp"\n\n[scheduler]\ninterval = 60\n',
        )
        settings = load_settings({}, cwd=tmp_path)
        assert "smtp://h:25" == settings.smtp_url
        assert "t@example.jp" == settings.mail_from

    def test_mixed_shapes(self, tmp_path: Path) -> None:
        """Top-level keys and [kaigi] keys combine when they do not overlap."""
        write(tmp_path / "kaigi.toml", 'smtp_url = "smtp://h:25"\n[kaigi]\nmail_from = "t@example.jp"\n')
        settings = load_settings({}, cwd=tmp_path)
        assert ("smtp://h:25", "t@example.jp") == (settings.smtp_url, settings.mail_from)

    def test_relative_paths_from_file_folder(self, tmp_path: Path) -> None:
        """Relative outbox, log and SQLite db in the file are taken from the file's folder."""
        conf = write(
            tmp_path / "etc" / "kaigi.toml",
            '[kaigi]\ndb = "sqlite:///data/kaigi.db"\noutbox = "out/outbox.jsonl"\nlog = "/var/log/kaigi.log"\n',
        )
        settings = load_settings({"KAIGI_CONFIG": str(conf)}, cwd=tmp_path / "elsewhere")
        assert "sqlite:///" + str(tmp_path / "etc" / "data" / "kaigi.db") == settings.db_url
        assert tmp_path / "etc" / "out" / "outbox.jsonl" == settings.outbox
        assert Path("/var/log/kaigi.log") == settings.log_file

    def test_empty_file(self, tmp_path: Path) -> None:
        """An empty file is valid and recorded as the one read."""
        write(tmp_path / "kaigi.toml", "")
        settings = load_settings({}, cwd=tmp_path)
        assert tmp_path / "kaigi.toml" == settings.config_path
        assert "kaigi@localhost" == settings.mail_from


class TestMalformedFile:
    @pytest.mark.parametrize(
        ("text", "needle"),
        [
            ('smtp_url = "smtp://h\n', "invalid TOML"),
            ("smtp_url = 25\n", "'smtp_url' must be a non-empty string"),
            ('outbox = ""\n', "'outbox' must be a non-empty string"),
            ('smtp-url = "smtp://h"\n', "unknown key 'smtp-url'; did you mean 'smtp_url'?"),
            ('colour = "blue"\n', "unknown key 'colour' (known: db, smtp_url"),
            ('[kaigi]\nlogfile = "x"\n', "unknown key kaigi.'logfile'; did you mean 'log'?"),
            ('kaigi = "x"\n', "'kaigi' must be a table"),
            ('log = "a"\n[kaigi]\nlog = "b"\n', "'log' is set both at the top level and in [kaigi]"),
        ],
        ids=["syntax", "type", "empty", "typo", "unknown", "unknown-in-table", "not-table", "twice"],
    )
    def test_one_line_naming_file_and_problem(self, tmp_path: Path, text: str, needle: str) -> None:
        """A bad settings file gives one line with the file's path and the problem."""
        path = write(tmp_path / "kaigi.toml", text)
        with pytest.raises(ValueError) as excinfo:
            load_settings({}, cwd=tmp_path)
        message = str(excinfo.value)
        assert message.startswith(f"settings file {path}: ")
        assert needle in message
        assert "\n" not in message

    def test_not_utf8(self, tmp_path: Path) -> None:
        """A file that is not UTF-8 is refused by name."""
        (tmp_path / "kaigi.toml").write_bytes('mail_from = "会議"\n'.encode("shift_jis"))
        with pytest.raises(ValueError) as excinfo:
            load_settings({}, cwd=tmp_path)
        assert "not UTF-8" in str(excinfo.value)

    def test_unreadable(self, tmp_path: Path) -> None:
        """A settings path that is a folder is refused by name."""
        (tmp_path / "kaigi.toml").mkdir()
        with pytest.raises(ValueError) as excinfo:
            load_settings({}, cwd=tmp_path)
        assert str(tmp_path / "kaigi.toml") in str(excinfo.value)

    def test_error_does_not_show_password(self, tmp_path: Path) -> None:
        """A type error next to a secret does not echo the secret."""
        write(tmp_path / "kaigi.toml", 'smtp_url = "smtp://u:topsecret@h"\nmail_from = 1\n')
        with pytest.raises(ValueError) as excinfo:
            load_settings({}, cwd=tmp_path)
        assert "topsecret" not in str(excinfo.value)


class TestRepr:
    def test_passwords_hidden(self, tmp_path: Path) -> None:
        """repr and str mask passwords in both URLs but keep the rest readable."""
        settings = load_settings(
            {"KAIGI_SMTP_URL": "smtps://kaigi:topsecret@mail.example.jp"},
            db_url="postgresql+psycopg://kaigi:dbsecret@db.example.jp/kaigi",
            cwd=tmp_path,
        )
        for text in (repr(settings), str(settings), f"{[settings]}"):
            assert "topsecret" not in text
            assert "dbsecret" not in text
            assert "smtps://kaigi:***@mail.example.jp" in text
            assert "postgresql+psycopg://kaigi:***@db.example.jp/kaigi" in text

    def test_no_smtp(self, tmp_path: Path) -> None:
        """Without SMTP the repr says None."""
        assert "smtp_url=None" in repr(load_settings({}, cwd=tmp_path))


class TestSqliteFile:
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("sqlite:///kaigi.db", "/base/kaigi.db"),
            ("sqlite:////srv/kaigi.db", "/srv/kaigi.db"),
            ("sqlite+pysqlite:///data/k.db?timeout=5", "/base/data/k.db"),
            ("sqlite://", None),
            ("sqlite:///:memory:", None),
            ("postgresql+psycopg://h/kaigi", None),
        ],
    )
    def test_paths(self, url: str, expected: str | None) -> None:
        """The file of a SQLite URL, relative to a base; None when there is no file."""
        result = sqlite_file(url, Path("/base"))
        assert expected == (None if result is None else str(result))


class TestBaseUrl:
    """KAIGI_BASE_URL / `base_url`: the web face's address reminders link to (issue 17)."""

    @pytest.mark.parametrize(("value", "kept"), [
        ("https://kaigi.police.example", "https://kaigi.police.example/"),
        ("https://kaigi.police.example/", "https://kaigi.police.example/"),
        ("http://10.0.0.5:8080/kaigi/", "http://10.0.0.5:8080/kaigi/"),
    ])
    def test_an_http_address_is_kept_with_one_slash(self, tmp_path: Path, value: str, kept: str) -> None:
        assert load_settings({"KAIGI_BASE_URL": value}, cwd=tmp_path).base_url == kept

    def test_from_the_file_and_unset(self, tmp_path: Path) -> None:
        assert load_settings({}, cwd=tmp_path).base_url is None
        write(tmp_path / "kaigi.toml", 'base_url = "https://k.example/"\n')
        assert load_settings({}, cwd=tmp_path).base_url == "https://k.example/"

    @pytest.mark.parametrize("bad", ["ftp://k.example/", "k.example", "https://", "https://k.example/#x",
                                     "https://k.example/?a=1", "https://u:pw@k.example/", "https://k.example:99999/",
                                     "https://k.ex ample/", "javascript:alert(1)"])
    def test_anything_else_is_one_line(self, tmp_path: Path, bad: str) -> None:
        with pytest.raises(ValueError) as err:
            load_settings({"KAIGI_BASE_URL": bad}, cwd=tmp_path)
        text = str(err.value)
        assert "\n" not in text and text.startswith("base_url:") and "pw" not in text.replace("http", "")


class TestEnvironment:
    """The KAIGI_* variables with no key in kaigi.toml: read by the settings module, carried by Settings."""

    def test_read_once_and_carried(self, tmp_path: Path) -> None:
        env = {"KAIGI_LANG": "en", "KAIGI_AS": "sato", "KAIGI_HTTPS": "1", "KAIGI_TRUSTED_PROXIES": "10.0.0.1",
               "KAIGI_SECRET": "cookiesecret", "KAIGI_KEY_PASSPHRASE": "keysecret", "KAIGI_PROXY_REALM": ""}
        s = load_settings(env, cwd=tmp_path)
        assert (s.env.lang, s.env.as_login, s.env.https, s.env.trusted_proxies) == ("en", "sato", True, "10.0.0.1")
        assert s.env.proxy_realm is None  # empty counts as unset
        assert s.env.secret == "cookiesecret" and s.env.key_passphrase == "keysecret"

    def test_secrets_never_in_repr(self) -> None:
        from engine.infra.settings import environment

        e = environment({"KAIGI_SECRET": "cookiesecret", "KAIGI_KEY_PASSPHRASE": "keysecret",
                         "KAIGI_OIDC_CLIENT_SECRET": "oidcsecret", "KAIGI_OIDC_ISSUER": "https://idp",
                         "KAIGI_OIDC_CLIENT_ID": "kaigi"})
        assert not any(x in repr(e) for x in ("cookiesecret", "keysecret", "oidcsecret"))
        assert e.oidc == {"issuer": "https://idp", "client_id": "kaigi", "client_secret": "oidcsecret",
                          "login_claim": ""}

    def test_https_only_when_one(self) -> None:
        from engine.infra.settings import environment

        assert not environment({"KAIGI_HTTPS": "yes"}).https and not environment({}).https


class TestPgPool:
    """KAIGI_PG_POOL: the PostgreSQL connections one process keeps at most (issue 21)."""

    def test_default_and_given(self, tmp_path: Path) -> None:
        assert load_settings({}, cwd=tmp_path).pg_pool == 4
        assert load_settings({"KAIGI_PG_POOL": " 3 "}, cwd=tmp_path).pg_pool == 3

    @pytest.mark.parametrize("bad", ["0", "101", "-1", "four", "2.5", "３"])
    def test_a_bad_size_is_one_line_naming_the_variable(self, tmp_path: Path, bad: str) -> None:
        with pytest.raises(ValueError) as err:
            load_settings({"KAIGI_PG_POOL": bad}, cwd=tmp_path)
        text = str(err.value)
        assert "\n" not in text and text.startswith("KAIGI_PG_POOL:") and "1-100" in text

    def test_the_size_reaches_the_store(self, tmp_path: Path) -> None:
        import engine

        s = load_settings({"KAIGI_PG_POOL": "3", "KAIGI_DB": "postgresql+psycopg://u@127.0.0.1:1/x"}, cwd=tmp_path)
        k = engine.open(s)
        assert k.store.inner.pool_size == 3  # nothing connected yet: the pool opens on first use

    def test_the_cli_refuses_a_bad_size_in_one_line_exit_2(self, tmp_path: Path) -> None:
        from click.testing import CliRunner

        from cli import cli

        r = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/k.db", "item", "list"],
                               env={"KAIGI_LANG": "en", "KAIGI_PG_POOL": "0"})
        assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and "KAIGI_PG_POOL" in r.output
        assert not (tmp_path / "k.db").exists()
