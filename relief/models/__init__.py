from relief.models.areas import Area
from relief.models.audit import AuditEvent
from relief.models.jobs import Job, JobStatus
from relief.models.users import RoleAssignment, User

__all__ = ["Area", "AuditEvent", "Job", "JobStatus", "RoleAssignment", "User"]
