"""distillproof: theorem checking for recursive knowledge distillation."""
