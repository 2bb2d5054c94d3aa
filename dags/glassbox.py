"""Airflow DAG file of the Glassbox pipeline: Airflow's DAG processor imports it from its dags folder.

The pipeline is configured by the YAML file named in $GLASSBOX_CONFIG, else by the defaults (README, "Airflow").
"""

import os

from pipeline.config import load_config
from pipeline.runners.airflow import create_dag

config = load_config(os.environ.get("GLASSBOX_CONFIG"))
dag = create_dag(config)
# The monitoring pipeline, when the config says which span directory to watch and against what (README, "Monitoring").
monitor_dag = create_dag(config, monitor=True) if config.monitor.baseline and config.monitor.data_dir else None
