# The course's commands. A new user needs two of them:
#   make lab    set everything up if needed, then open the course in JupyterLab
#   make test   set everything up if needed, then run every test (unit, notebooks twice, browser)
# Both are idempotent: the second run skips what is already installed and verified.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Two workers by default (the machine the course targets has two cores); `make test JOBS=1` to run serially.
JOBS   ?= 2

.PHONY: setup lab test quick test-other-cpu lint data student execute site clean help

help:
	@echo "make lab     set up (if needed) and open the course in JupyterLab"
	@echo "make test    set up (if needed) and run lint, unit tests, nbval over every notebook, the browser test,"
	@echo "             then every notebook again as another processor computes it (make test-other-cpu)"
	@echo "make quick   the fast inner loop: the unit tests only (no notebooks, no browser, nothing marked slow)"
	@echo "make test-other-cpu  only that second notebook pass: PyTorch's plain kernels, MKL's compatible code path"
	@echo "make setup   only install packages into $(VENV) and fetch + verify the data"
	@echo "make student write student versions (solutions stubbed, outputs cleared) into build/student/"
	@echo "make execute re-run every notebook in place (maintainers, after changing a lesson; NB=notebooks/08_training.ipynb for one)"
	@echo "make site    build the lessons as static HTML pages in build/site/ (saved outputs, no network) and check their links"

# PyTorch is installed first, as the build scripts/torch_choice.py picks: the CPU build on Linux (from
# PyTorch's CPU wheel index), PyPI's wheel elsewhere; `make setup COURSE_TORCH=cuda` for the CUDA build.
# Its download is the big one, so pip shows its progress there.
$(STAMP): requirements.txt pyproject.toml scripts/torch_choice.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; found " + sys.version.split()[0] + ". Try: make PYTHON=python3.11 ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@args=$$($(PYTHON) scripts/torch_choice.py) && $(BIN)/python -m pip install $$args
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

data: $(STAMP)
	@$(BIN)/python -m course_lib.data setup

setup: $(STAMP) data

# Jupyter refuses to start as root unless told to; containers and CI machines often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/

lint: $(STAMP)
	$(BIN)/ruff check course_lib tests notebooks benchmarks scripts
	$(BIN)/ruff format --check course_lib tests benchmarks scripts

PYTEST := $(BIN)/python -m pytest -n $(JOBS) --dist loadfile -p no:randomly -ra
NBVAL  := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-current-env

# Another processor adds the same long sums up in another order, so the last bits of its results differ, and
# training amplifies them into other losses and other samples. To see what a learner with another CPU sees,
# the second pass makes PyTorch use its plain C++ kernels instead of the AVX2 / AVX-512 ones it picks here,
# and MKL its conservative code path instead of the one it picks for this processor. Both change the bits
# (tests/test_cpu_kernels.py shows it), so a lesson whose compared outputs hang on them fails this pass.
OTHER_CPU := ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE

test: setup lint
	$(PYTEST) $(NBVAL) tests notebooks
	$(OTHER_CPU) $(PYTEST) $(NBVAL) notebooks

# The fast inner loop while changing course_lib: unit tests only, no nbval, no browser, no slow tests.
quick: $(STAMP)
	$(PYTEST) -m "not browser and not slow" tests

test-other-cpu: setup
	$(OTHER_CPU) $(PYTEST) $(NBVAL) notebooks

student: $(STAMP)
	$(BIN)/python -m course_lib.teaching.student notebooks build/student

execute: setup
	$(BIN)/python scripts/execute_notebooks.py $(NB)

site: $(STAMP)
	$(BIN)/python -m course_lib.teaching.site build --out build/site
	$(BIN)/python -m course_lib.teaching.site check build/site

clean:
	rm -rf $(VENV) data/cache
