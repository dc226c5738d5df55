from django.core.validators import RegexValidator

employee_code_validator = RegexValidator(
    r"\A[A-Za-z0-9_-]{1,64}\Z",
    "Employee codes use letters, digits, '-' and '_' only (at most 64).",
    code="invalid",
)
