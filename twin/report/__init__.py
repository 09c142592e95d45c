"""The report kit shared by every HTML report and the app: page shell, cards, maps."""
