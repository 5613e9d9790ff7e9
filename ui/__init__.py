"""Streamlit helpers shared by the pages: session state, the sidebar, widgets. Logic stays in core."""
