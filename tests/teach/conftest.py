import pytest
from helpers import paint, scratched_pair


@pytest.fixture(scope="module")
def pair():
    """``(first, truth1, second, truth2)``: two scratched camera crops and their scratches."""
    return scratched_pair()


@pytest.fixture(scope="module")
def taught(pair):
    import napari_mend as nm

    first, truth1, _, _ = pair
    return nm.teach(first, paint(truth1))
