"""The ice-manipulation study: its report section (:mod:`.section`)."""
