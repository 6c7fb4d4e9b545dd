"""The tournament-exchange study: its report section (:mod:`.section`)."""
