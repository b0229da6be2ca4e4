# The two commands: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(PY) -m rasa
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.lock | cut -c1-12)
MODEL := models/current.tar.gz
# npm packages (package-lock.json): socket.io-client, served to the patient widget, echarts, served to the
# console's reports page, and playwright-core.
NODE_MODULES := node_modules/.installed
TRAIN_INPUTS := config.yml domain.yml bot/nlu/normalise.py $(shell find data/nlu data/rules data/stories data/jieba -type f 2>/dev/null | sort)

export DATABASE_URL ?= sqlite:///var/app.db
export RASA_PORT ?= 5005
export ACTIONS_PORT ?= 5055
export CONSOLE_PORT ?= 8000
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false
export PYTHONPATH := $(CURDIR)

.PHONY: run test install train validate pytest test-stories nlu-eval triage-eval browser-deps bench profile bench-length profile-length lock clean

run: $(STAMP) $(MODEL) $(NODE_MODULES)
	@mkdir -p var
	$(PY) -m bot run

test: $(STAMP) $(MODEL) validate pytest nlu-eval triage-eval test-stories
	@echo "All checks passed."

install: $(STAMP)

train: $(MODEL)

# A fresh virtual environment with Python 3.10 and exactly the locked packages.
$(STAMP): requirements.lock scripts/find-python310
	@python310=$$(scripts/find-python310) || exit 1; \
	if [ ! -x $(PY) ]; then echo "Creating $(VENV) with $$python310"; $$python310 -m venv $(VENV); fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==$$(sed -n "s/^pip==//p" requirements.lock)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(PY) -m pip check
	@rm -f $(VENV)/.installed-*
	@touch $@

# Retrain only when the config, the domain or the training data changed.
$(MODEL): $(STAMP) $(TRAIN_INPUTS)
	@mkdir -p var models
	$(RASA) train --fixed-model-name current --out models
	@touch $@

# `rasa data validate`, failing on any warning (Rasa does not fail on all of them itself) but three. Two are about
# the retrieval intents ask_procedure_info and ask_refund_policy: their sub-intents (ask_procedure_info/price …)
# are the ResponseSelector's topics, answered from data/policies by action_policy_answer, so their `utter_ask_…`
# responses are deliberately absent; and Rasa adds retrieval intents to the domain itself, then warns that
# domain.yml lists them too (CONTRACT.md §3 lists them, so domain.yml does).
RETRIEVAL_RESPONSE_WARNING := Action 'utter_(ask_procedure_info|ask_refund_policy)' is listed as a response action|duplicated intents have been found across multiple domain files: ask_procedure_info, ask_refund_policy$$
# A third, about rate_service only: the satisfaction question's buttons send it as a payload
# (/rate_service{"satisfaction_score":"5"}, data/policies/followups.yml), so it deliberately has no NLU examples;
# examples would move the NLU model's gated figures, and a typed "满意" is understood as any other message.
PAYLOAD_ONLY_INTENT_WARNING := The intent 'rate_service' is listed in the domain file, but is not found in the NLU training data\.$$
validate: $(STAMP)
	@mkdir -p results
	$(RASA) data validate --fail-on-warnings 2>&1 | grep -vE "$(RETRIEVAL_RESPONSE_WARNING)|$(PAYLOAD_ONLY_INTENT_WARNING)" | tee results/validate.log | grep -E "UserWarning|ERROR|WARNING" || true
	@! grep -qE "UserWarning|ERROR|WARNING " results/validate.log || { echo "rasa data validate reported warnings (results/validate.log)"; exit 1; }

# Browser tests drive Debian's Chromium with playwright-core (package-lock.json); no browser is downloaded.
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CHROMIUM):
	@echo "The browser tests need Debian's chromium: installing it with apt-get (needs root)."
	@if [ "$$(id -u)" -ne 0 ]; then echo "Not root: run 'sudo apt-get install -y chromium', then make test again." >&2; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# Without a Chinese font the widget screenshots in results/ show empty boxes instead of text.
$(CJK_FONT):
	@echo "The widget screenshots need a Chinese font: installing fonts-wqy-microhei with apt-get (needs root)."
	@if [ "$$(id -u)" -ne 0 ]; then echo "Not root: run 'sudo apt-get install -y fonts-wqy-microhei', then make test again." >&2; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei

browser-deps: $(NODE_MODULES) $(CHROMIUM) $(CJK_FONT)

# The cluster tests (tests/test_cluster.py) put two Rasa instances and two action servers behind
# Debian's nginx, started by the tests as an unprivileged foreground process with its own config.
NGINX := /usr/sbin/nginx

$(NGINX):
	@echo "The cluster tests need Debian's nginx: installing nginx-light with apt-get (needs root)."
	@if [ "$$(id -u)" -ne 0 ]; then echo "Not root: run 'sudo apt-get install -y nginx-light', then make test again." >&2; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light

# pytest's exit code 5 means "no tests collected", which is not a failure of the project.
pytest: $(STAMP) $(MODEL) browser-deps $(NGINX)
	@mkdir -p var
	$(PY) -m pytest || { rc=$$?; [ $$rc -eq 5 ] && echo "pytest collected no tests" || exit $$rc; }

test-stories: $(STAMP) $(MODEL)
	$(RASA) test core --model $(MODEL) --stories tests/test_stories.yml --fail-on-prediction-errors --out results/core

# Intent, emergency and procedure scores on both NLU hold-outs (tests/nlu/holdout.yml, holdout_real.yml);
# fails under the thresholds of bot/nlu/evaluate.py. Writes results/nlu_holdout{,_real}.{json,md}.
nlu-eval: $(STAMP) $(MODEL)
	$(PY) -m bot.nlu.evaluate --model $(MODEL) --out results

# Red-flag recall per concept and the near-miss rate on tests/nlu/triage_*.yml (docs/triage.md); fails when
# any red flag of the enforced set is missed or more than 5 % of its near-misses would open an urgent handoff.
# Writes results/triage.{json,md}.
triage-eval: $(STAMP) $(MODEL)
	$(PY) -m bot.nlu.triage_eval --model $(MODEL) --out results

# Latency, throughput, memory and training cost; writes bench/results.md (LABEL names the run); then bench-length.
bench: $(STAMP) $(MODEL) $(NGINX)
	$(PY) bench/run.py --label $(or $(LABEL),current)
	$(MAKE) bench-length

# Where a turn spends Rasa's CPU (py-spy); writes bench/profile.md.
profile: $(STAMP) $(MODEL)
	$(PY) bench/profile.py

# Turn latency at messages 1-10/100/200/400 of one conversation and 32 conversations of 5 and 50 turns (#19),
# interleaved with stock Rasa's moodbot (bench/stock.py, trained once into var/stock-moodbot), on SQLite and on
# PostgreSQL; the window's A/B: LENGTH_VARIANTS="--variant rasa-session=TRACKER_STORE_WINDOW_TURNS=0 $(LENGTH_VARIANTS)".
# Then where the 400th turns spend the CPU: profile-length.
LENGTH_VARIANTS ?= --variant window-10=TRACKER_STORE_WINDOW_TURNS=10
bench-length: $(STAMP) $(MODEL)
	$(PY) -m bench.length --label $(or $(LABEL),current) --concurrent 5 --concurrent 50 --stock \
		--database sqlite --database postgresql $(LENGTH_VARIANTS)

profile-length: $(STAMP) $(MODEL)
	$(PY) -m bench.profile_length \
		--variant rasa-session=TRACKER_STORE_WINDOW_TURNS=0 --variant window-10=TRACKER_STORE_WINDOW_TURNS=10

# Re-resolve requirements.in into the exact lock file.
lock:
	$(PY) -m pip install --quiet -r requirements.in
	$(PY) -m pip freeze --all --exclude-editable > requirements.lock

clean:
	rm -rf models results var/app.db
