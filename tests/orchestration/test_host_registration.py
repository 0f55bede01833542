"""Functions host emulator: durable functions are registered under the name their trigger gives them."""

from __future__ import annotations

import textwrap

import pytest

from emulators.functions_host import UnknownFunctionError


def test_activity_orchestrator_and_entity_names_from_the_trigger(functions_host_factory):
    host = functions_host_factory()
    instance_id = host.start_orchestration("renamed_flow", "quiet")
    host.run_until_idle()
    output = host.status(instance_id)["output"]
    assert output["loud"] == "QUIET"
    # As in the extension, the trigger's name replaces the Python function's name: that one is unknown.
    assert output["python_name"].startswith(
        "The function 'shout_impl' doesn't exist, is disabled, or is not an activity function. Additional info: "
    )
    assert "'shout_renamed'" in output["python_name"]
    assert host.entity_state("Tally", "renamed") == 1
    with pytest.raises(UnknownFunctionError, match="'renamed_orchestrator' doesn't exist"):
        host.start_orchestration("renamed_orchestrator")


def test_two_functions_claiming_one_activity_name_are_refused_when_the_app_loads(
    functions_host_factory, tmp_path, monkeypatch
):
    app_dir = tmp_path / "clash_app"
    app_dir.mkdir()
    (app_dir / "clash_app_module.py").write_text(
        textwrap.dedent(
            """
            import azure.durable_functions as df

            app = df.DFApp()


            @app.activity_trigger(input_name="x", activity="same")
            def first(x):
                return x


            @app.activity_trigger(input_name="x", activity="same")
            def second(x):
                return x
            """
        )
    )
    monkeypatch.syspath_prepend(str(app_dir))
    with pytest.raises(ValueError, match="two activity functions are registered as 'same'"):
        functions_host_factory("clash_app_module", state_dir=tmp_path / "state")
