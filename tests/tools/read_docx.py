"""Reads a Word document with python-docx, an implementation independent of the one
that wrote it, and prints what a reader of the document sees as JSON: the paragraphs
with their style names, the tables' cells, the pictures and the page size.

Usage: python read_docx.py FILE.docx
"""

import json
import sys

import docx
from docx.enum.text import WD_COLOR_INDEX


def main(path):
    document = docx.Document(path)
    paragraphs = [
        {
            "style": p.style.name if p.style is not None else None,
            "text": p.text,
            "highlighted": any(
                r.font.highlight_color == WD_COLOR_INDEX.YELLOW for r in p.runs
            ),
        }
        for p in document.paragraphs
    ]
    tables = [
        [[cell.text for cell in row.cells] for row in table.rows]
        for table in document.tables
    ]
    pictures = [
        {
            "content_type": shape._inline.graphic.graphicData.pic.blipFill.blip.embed
            and document.part.related_parts[
                shape._inline.graphic.graphicData.pic.blipFill.blip.embed
            ].content_type,
            "bytes": len(
                document.part.related_parts[
                    shape._inline.graphic.graphicData.pic.blipFill.blip.embed
                ].blob
            ),
            "width_emu": shape.width,
            "height_emu": shape.height,
        }
        for shape in document.inline_shapes
    ]
    section = document.sections[0]
    json.dump(
        {
            "paragraphs": paragraphs,
            "tables": tables,
            "pictures": pictures,
            "page": {
                "width_mm": round(section.page_width.mm),
                "height_mm": round(section.page_height.mm),
            },
        },
        sys.stdout,
        ensure_ascii=False,
    )


if __name__ == "__main__":
    main(sys.argv[1])
