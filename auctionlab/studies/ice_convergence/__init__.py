"""The ice-convergence study: its report section (:mod:`.section`)."""
