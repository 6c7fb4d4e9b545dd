"""The tasc-truthfulness study: its report section (dataset -> figures -> claims) in :mod:`.section`."""
