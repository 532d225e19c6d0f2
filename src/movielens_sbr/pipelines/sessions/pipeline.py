"""Sessions: ``ratings`` -> train/valid/test sessions and the ``item_index``."""

from kedro.pipeline import Node, Pipeline

from movielens_sbr.pipelines.sessions.nodes import (
    build_session_events,
    plot_events_per_day,
    plot_session_lengths,
    split_sessions,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_session_events,
                ["ratings", "params:sessions", "params:seed", "archive_summary"],
                ["session_events", "cleansing_log"],
                name="build_session_events",
            ),
            Node(
                split_sessions,
                ["session_events", "cleansing_log", "params:sessions"],
                [
                    "train_sessions",
                    "valid_sessions",
                    "test_sessions",
                    "item_index",
                    "split_statistics",
                ],
                name="split_sessions",
            ),
            Node(
                plot_session_lengths,
                "session_events",
                "session_length_plot",
                name="plot_session_lengths",
                tags="plots",
            ),
            Node(
                plot_events_per_day,
                ["session_events", "split_statistics"],
                "events_per_day_plot",
                name="plot_events_per_day",
                tags="plots",
            ),
        ],
        tags="sessions",
    )
