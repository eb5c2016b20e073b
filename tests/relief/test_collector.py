import gc

import pytest

from relief import collector


@pytest.fixture
def collector_on():
    gc.enable()
    yield
    gc.enable()


def test_it_holds_the_collector_off_inside_and_on_again_after(collector_on):
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_turns_the_collector_on_again_after_an_error(collector_on):
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError("a build that fails")
    assert gc.isenabled()


def test_it_leaves_the_collector_off_when_it_was_off_before(collector_on):
    gc.disable()
    with collector.paused():
        pass
    assert not gc.isenabled()


def test_a_nested_pause_does_not_turn_it_on_early(collector_on):
    with collector.paused():
        with collector.paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
