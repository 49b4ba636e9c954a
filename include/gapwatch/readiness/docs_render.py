"""The validation page renderer of gapwatch's Data Docs: failed expectations first.

GX's ``ValidationResultsPageRenderer`` lays a validation out as Overview, table-level
expectations, then one section per column in alphabetical order, each in suite order: on a
suite of twenty columns the one failing check sits at the bottom of a long page. This renderer
keeps GX's sections and their rendering, and only changes the order: sections holding a failed
expectation come first (table-level before columns, then in GX's order), and inside each section
the failed expectations come before the ones that held. ``gapwatch.readiness.docs`` names it in
the site's ``site_section_builders`` (GX instantiates it from its module and class name).
"""

from __future__ import annotations

from typing import Any

from great_expectations.render.renderer.page_renderer import ValidationResultsPageRenderer
from great_expectations.render.renderer.renderer import Renderer

TABLE_LEVEL = "Table-Level Expectations"  # GX's key for expectations without a column


def failed_first(results: list[Any]) -> list[Any]:
    """The results with the failed ones first, each group in its original order (a stable sort)."""
    return sorted(results, key=lambda r: bool(r.success))


def section_order(columns: dict[str, list[Any]], column_order: list[str]) -> list[str]:
    """Section keys (table-level, then columns in GX's order), those with a failure first."""
    keys = ([TABLE_LEVEL] if TABLE_LEVEL in columns else []) + [c for c in column_order if c in columns]
    return sorted(keys, key=lambda k: all(r.success for r in columns[k]))


class FailedFirstValidationResultsPageRenderer(ValidationResultsPageRenderer):
    """GX's validation page with failing sections and expectations at the top."""

    def _collect_rendered_document_content_sections(
        self,
        validation_results: Any,
        overview_content_blocks: list[Any],
        collapse_content_blocks: list[Any],
        columns: dict[str, list],
    ) -> list[Any]:
        from great_expectations.render import RenderedSectionContent

        ordered = {key: failed_first(evrs) for key, evrs in columns.items()}
        sections = [RenderedSectionContent(section_name="Overview", content_blocks=overview_content_blocks)]
        sections += [
            self._column_section_renderer.render(
                validation_results=ordered[key], suite_parameters=validation_results.suite_parameters
            )
            for key in section_order(ordered, Renderer._get_column_list_from_evrs(validation_results))
        ]
        if self.run_info_at_end:
            sections.append(RenderedSectionContent(section_name="Run Info", content_blocks=collapse_content_blocks))
        return sections
