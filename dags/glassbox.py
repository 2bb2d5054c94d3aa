"""Airflow DAG file of the Glassbox pipeline: Airflow's DAG processor imports it from its dags folder.

The pipeline is configured by the YAML file named in $GLASSBOX_CONFIG, else by the defaults (README, "Airflow").
"""

import os

from pipeline.config import load_config
from pipeline.runners.airflow import create_dag

dag = create_dag(load_config(os.environ.get("GLASSBOX_CONFIG")))
