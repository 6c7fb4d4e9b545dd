"""The tasc-runtime study: its report section (dataset -> figures -> claims) in :mod:`.section`."""
