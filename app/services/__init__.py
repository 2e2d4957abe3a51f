"""Service logic behind the routes: each module takes a SQLAlchemy Session."""
