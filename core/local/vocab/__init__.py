"""The words the offline CV parser reads by, kept apart from the algorithm (as python-nameparser keeps its config).

headings: section heading spellings; words: word sets for titles, employers, names, languages and skill lists.
"""
