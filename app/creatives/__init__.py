"""Personalized creatives: briefs from profiles, copy, composition, segments and personas."""
