"""Reports: the terminal summary, markdown and HTML pages with plots."""
