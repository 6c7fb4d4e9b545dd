"""The relay-manipulation study: its report section lives in :mod:`.section`."""
