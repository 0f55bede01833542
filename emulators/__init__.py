"""Local stand-ins for what only Azure has. Development and tests only; never deployed."""
