# Set-up shim: a .venv with the project, and TeX Live; then doit builds, pytest tests.
# `make` builds report/hw4.pdf; `make test` runs the test suite. Both are idempotent.
# `make watch` rebuilds the quick PDF on every save (`make watch PROFILE=full` the full one).

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
TEX_PACKAGES := latexmk texlive-latex-base texlive-latex-recommended texlive-latex-extra \
	texlive-fonts-recommended texlive-science texlive-bibtex-extra biber lmodern poppler-utils

PROFILE ?= quick

.PHONY: all pdf quick figures test watch tex clean
all: pdf

pdf: $(STAMP) tex
	$(VENV)/bin/doit

quick: $(STAMP) tex
	$(VENV)/bin/doit profile=quick

figures: $(STAMP)
	$(VENV)/bin/doit figures

test: $(STAMP) tex
	$(VENV)/bin/pytest

watch: $(STAMP) tex
	PYTHONPATH=src $(VENV)/bin/python -m hw4.core.watch --profile $(PROFILE)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

tex:
	@if ! command -v latexmk >/dev/null || ! command -v biber >/dev/null || ! command -v pdftotext >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing TeX Live from Debian packages (once; a few minutes)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEX_PACKAGES) >/dev/null; \
	  else \
	    echo "TeX Live is missing. Install it with:"; \
	    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $(TEX_PACKAGES)"; \
	    exit 1; \
	  fi; \
	fi

clean: $(STAMP)
	$(VENV)/bin/doit clean
	$(VENV)/bin/doit profile=quick clean
