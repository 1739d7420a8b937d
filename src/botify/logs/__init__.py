"""The service's event logs, read once for everyone: the A/B analysis, training, the fitted world and OPE.

- ``reader``: every replica's files (rotated ones too) line by line, malformed lines counted with file and line;
- ``columnar``: the same contract for millions of lines, each file converted once to a validated Parquet copy
  (``parquet_copy``) and read with DuckDB (imported on its own: it loads DuckDB and Arrow);
- ``sessions``: each user's lines in the order the service answered them, cut into sessions.
"""

from botify.logs.reader import EventColumns, LogReadReport, find_log_files, read_events
from botify.logs.sessions import Sessions, service_order, session_ids, sessionize

__all__ = ["EventColumns", "LogReadReport", "Sessions", "find_log_files", "read_events", "service_order",
           "session_ids", "sessionize"]
