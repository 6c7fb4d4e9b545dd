"""The learning-dynamics study's report section."""
