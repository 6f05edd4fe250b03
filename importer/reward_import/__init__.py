"""model:import — a Hugging Face reward-model checkpoint to a folder the reward service serves,
verified against transformers itself."""
