# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PY := .venv/bin/python
export RASA_TELEMETRY_ENABLED := false

.PHONY: run test setup train validate lint format bench chat admin clean

run: export DEMO ?= true
run: setup ## set up, train if the data changed, start Rasa + action server + gateway (a demo: DEMO=true)
	$(PY) -m bot.run

test: setup ## set up and run the whole test suite (SQLite, then PostgreSQL + Redis)
	bash scripts/test.sh

setup: ## .venv with Python 3.10 and the pinned dependencies
	bash scripts/setup.sh

train: setup ## train the model only if config, domain or data changed
	$(PY) -m bot.rasa.training

validate: setup ## rasa data validate
	$(PY) -m rasa data validate

lint: setup
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff check --fix . && $(PY) -m ruff format .

bench: setup ## held-out NLU accuracy and latency figures
	$(PY) -m bench.nlu_heldout
	$(PY) -m bench.latency

chat: setup ## chat with the running assistant in the terminal
	$(PY) -m bot.cli

admin: setup ## create the first admin of the agent console (asks for a password)
	$(PY) -m bot.manage create-admin $${ADMIN:-admin} --name "$${ADMIN_NAME:-Admin}"

clean:
	rm -rf var results reports .rasa .pytest_cache .ruff_cache

# Content editors (docs/editors.md): python -m bot.editor. PROJECT=dir works on a copy of the project.
.PHONY: check intent article publish
EDITOR_PROJECT := $(if $(PROJECT),--project $(PROJECT))

check: setup ## what an editor must fix: static checks, then model checks (FAST=1: static only; REPORT=dir)
	$(PY) -m bot.editor check $(if $(FAST),--fast) $(if $(REPORT),--report $(REPORT)) $(EDITOR_PROJECT)

intent: setup ## scaffold a new intent: make intent NAME=billing_late_fee [TOPIC=billing]
	@test -n "$(NAME)" || { echo "usage: make intent NAME=billing_xxx [TOPIC=billing]"; exit 2; }
	$(PY) -m bot.editor add-intent $(NAME) $(if $(TOPIC),--topic $(TOPIC)) $(EDITOR_PROJECT)

article: setup ## scaffold a help-centre article in nl/fr/en: make article ID=call_forwarding_abroad [TOPIC=services]
	@test -n "$(ID)" || { echo "usage: make article ID=call_forwarding_abroad [TOPIC=services]"; exit 2; }
	$(PY) -m bot.editor add-article $(ID) $(if $(TOPIC),--topic $(TOPIC)) $(EDITOR_PROJECT)

publish: setup ## train if needed and load the new model into the running Rasa (PUT /model)
	$(PY) -m bot.editor publish $(EDITOR_PROJECT)

# Learning from live traffic (docs/editors.md): DAYS=n narrows the period.
.PHONY: traffic traffic-export trends

traffic: setup ## messages the bot did not handle, grouped (DAYS=7)
	$(PY) -m bot.editor traffic list --days $(or $(DAYS),7) $(EDITOR_PROJECT)

traffic-export: setup ## add the assigned messages to data/nlu/<lang>/traffic.yml (then: make check)
	$(PY) -m bot.editor traffic export --write $(EDITOR_PROJECT)

trends: setup ## messages per day and topic, and the surge alerts (DAYS=14)
	$(PY) -m bot.editor traffic trends --days $(or $(DAYS),14)
