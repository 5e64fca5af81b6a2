"""One seed per (run seed, index) pair: every data item, step and process draws its own stream."""

# A prime above any number of items, steps or processes a run has, so two
# pairs (seed, index) never give the same stream.
SEED_STRIDE = 1_000_003


def derived_seed(seed: int, index: int) -> int:
    """The seed of item, step or rank ``index`` of a run seeded with ``seed``."""
    return seed * SEED_STRIDE + index
