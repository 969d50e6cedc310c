"""Deployment assets: cluster profiles (profiles.yaml), the served deployment, local Slurm."""
