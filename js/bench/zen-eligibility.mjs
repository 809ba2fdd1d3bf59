// The eligibility part of the billing run as a GoRules ZEN decision table (JDM), for the
// comparison in bench.mjs: per time entry, the first matching rule says whether it may be billed
// and why not (not approved, task not billable, outside the period). No pricing, no ceiling.

export function eligibilityJdm({ loop }) {
  const table = {
    hitPolicy: "first",
    inputs: [
      { id: "i1", name: "Status", field: "status" },
      { id: "i2", name: "Task billable", field: "billable" },
      { id: "i3", name: "In period", field: "d(work_date) >= d(period_start) and d(work_date) <= d(period_end)" },
    ],
    outputs: [
      { id: "o1", name: "Eligible", field: "eligible" },
      { id: "o2", name: "Reason", field: "reason" },
    ],
    rules: [
      { _id: "r1", i1: '!= "approved"', i2: "", i3: "", o1: "false", o2: '"not_approved"' },
      { _id: "r2", i1: "", i2: "false", i3: "", o1: "false", o2: '"not_billable"' },
      { _id: "r3", i1: "", i2: "", i3: "false", o1: "false", o2: '"outside_period"' },
      { _id: "r4", i1: "", i2: "", i3: "", o1: "true", o2: "null" },
    ],
  };
  if (loop) Object.assign(table, { inputField: "entries", outputPath: "results", executionMode: "loop", passThorough: false });
  return {
    nodes: [
      { id: "in", type: "inputNode", name: "request", position: { x: 0, y: 0 } },
      { id: "t", type: "decisionTableNode", name: "eligibility", position: { x: 200, y: 0 }, content: table },
      { id: "out", type: "outputNode", name: "response", position: { x: 400, y: 0 } },
    ],
    edges: [
      { id: "e1", sourceId: "in", targetId: "t", type: "edge" },
      { id: "e2", sourceId: "t", targetId: "out", type: "edge" },
    ],
  };
}
