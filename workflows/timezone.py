"""Japan time, defined once for every layer: the rulebook's days (when a version takes
effect, working days, deadlines) are Japan-time days, and people type and read Japan time.
Instants are stored in UTC: that is the standard library's `datetime.UTC`, never redefined.
The leaf (`workflows`) holds it so that the engine and the faces import one object.
"""

from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
