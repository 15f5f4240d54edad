"""Jinja2 templates and CSS of the report, shipped inside the package as imbreport.templates."""
