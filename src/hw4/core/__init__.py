"""What every question shares: config, paths, the results store, task wiring (build, report,
code digests), rendering and LaTeX, provenance and the plot style. No question code lives here."""
