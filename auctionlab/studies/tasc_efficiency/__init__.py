"""The tasc-efficiency study: its report section (dataset -> figures -> claims) in :mod:`.section`."""
