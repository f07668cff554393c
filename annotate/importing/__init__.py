"""Reading and validating article files for import (no database writes here)."""
