"""The relay tournament study: its report section lives in :mod:`.section`."""
