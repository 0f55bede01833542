# Every target sets up .venv by itself: a newcomer needs only `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PURE_CORE := provisioning/events/*.py,provisioning/naming.py,provisioning/scim.py,provisioning/settings/*.py
# Where HR data enters: the HR event API, the mapping language and the webhooks (each a coverage gate of its own).
INTAKE := provisioning/intake/*.py,provisioning/intake/hr_api/*.py,provisioning/intake/mapping/*.py
CONNECTORS := provisioning/intake/bamboohr.py,provisioning/intake/hibob.py,provisioning/intake/personio.py,provisioning/intake/connector.py,provisioning/intake/notifications.py,provisioning/intake/records.py,provisioning/intake/registry.py,provisioning/intake/routes.py,provisioning/intake/activities.py,provisioning/intake/vendor_http.py,provisioning/workflows/hris_intake.py
# The AD behind the emulated provisioning agent for demo/serve/bench: memory (default) or samba (a real Samba AD DC).
AD ?= memory
export AD

.PHONY: venv test test-ad test-slow test-conformance lint typecheck demo serve bench infra-check ad-shell clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

# Includes the AD tier (-m ad, about 30 s) when Samba is installed; says so either way.
test: lint typecheck
	@$(PY) -m emulators.entra.ad.check
	AD=memory $(PY) -m pytest -m "not slow" --cov --cov-report=
	$(PY) -m coverage report --include="$(PURE_CORE)" --fail-under=90
	$(PY) -m coverage report --include="$(INTAKE)" --fail-under=90
	$(PY) -m coverage report --include="$(CONNECTORS)" --fail-under=90

# The AD tier alone: the product's AD scenarios against a real Samba AD DC over LDAPS.
test-ad: $(STAMP)
	@$(PY) -m emulators.entra.ad.check
	$(PY) -m pytest -m ad

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

# Also part of `make test`: the emulators checked against Microsoft's SDKs, samples and published schemas.
test-conformance: $(STAMP)
	$(PY) -m pytest tests/conformance

infra-check: $(STAMP)
	$(PY) -m pytest tests/infra

bench: $(STAMP)
	$(PY) -m benchmarks

demo: $(STAMP)
	$(PY) -m demo

serve: $(STAMP)
	$(PY) -m demo --serve

# A Samba AD DC on loopback (the same template the AD tier uses) and the ldapsearch line to look at it.
ad-shell: $(STAMP)
	$(PY) -m emulators.entra.ad

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
