from relief.models.areas import Area
from relief.models.audit import AuditEvent
from relief.models.users import RoleAssignment, User

__all__ = ["Area", "AuditEvent", "RoleAssignment", "User"]
