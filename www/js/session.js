// session.js - who is signed in and what their roles allow.  The pages use
// it only to leave out what would be refused: the API checks every call.

const RANK = { viewer: 1, operator: 2, manager: 3 };

export const session = {
  me: null, // GET /me: {id, login, display_name, is_admin, departments: [{id, name, role}]}

  role(deptId) {
    if (!this.me) return null;
    const d = this.me.departments.find((x) => x.id === Number(deptId));
    return d ? d.role : (this.me.is_admin ? 'manager' : null);
  },
  atLeast(deptId, role) { return (RANK[this.role(deptId)] || 0) >= RANK[role]; },
  canOperate(deptId) { return this.atLeast(deptId, 'operator'); },
  canManage(deptId) { return this.atLeast(deptId, 'manager'); },
  // Departments where the user may create jobs.
  managedDepartments() {
    return this.me ? this.me.departments.filter((d) => d.role === 'manager') : [];
  },
  isManagerSomewhere() {
    return !!this.me && (this.me.is_admin || this.managedDepartments().length > 0);
  },
};
