"""The relay equilibrium study: its report section lives in :mod:`.section`."""
