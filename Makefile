# The two commands: `make run` (portal with demo data) and `make test`.
PYTHON ?= python3.13
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint setup migrate clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py seed_demo
	@echo "Wharf is starting on http://127.0.0.1:8000 (log in with a login above)"
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

# mypy checks the typed modules listed in pyproject.toml; its Django plugin loads the settings,
# which need WHARF_TESTING's development fallbacks (no SECRET_KEY here).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	WHARF_TESTING=1 $(BIN)/mypy

clean:
	rm -rf $(VENV) wharf.sqlite3 staticfiles

# Developers: extract the marked strings into the zh-Hans catalog and compile it (needs GNU
# gettext: apt-get install gettext). The compiled .mo files are committed, so running Wharf
# needs no gettext.
MESSAGES_IGNORE := --ignore=.venv --ignore=node_modules --ignore=bench --ignore=testkit --ignore=staticfiles \
	--ignore='*/tests/*' --ignore=conftest.py
messages: setup
	$(BIN)/python manage.py makemessages --locale=zh_Hans --no-obsolete --no-location --no-wrap $(MESSAGES_IGNORE)
	$(BIN)/python manage.py compilemessages --locale=zh_Hans --ignore=.venv --ignore=node_modules
