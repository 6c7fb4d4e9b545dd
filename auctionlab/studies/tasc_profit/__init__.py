"""The tasc-profit study: its report section (dataset -> figures -> claims) in :mod:`.section`."""
