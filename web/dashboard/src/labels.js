// labels.js — owns the labels admins define, as this page knows them: read at sign-in and again
// whenever `LabelsChanged` says an admin made, renamed or deleted one. Conversations carry label
// ids; this turns them into names and colours.

export function createLabels({ api, onChange }) {
  let all = [];
  let loading = null;
  return {
    all: () => all,
    byId: (id) => all.find((l) => l.id === id) || null,
    load() {
      if (loading) return loading;
      loading = api
        .labels()
        .then((res) => {
          all = (res?.labels || [])
            .filter((l) => Number.isSafeInteger(Number(l?.id)) && typeof l.name === 'string')
            .map((l) => ({ id: Number(l.id), name: l.name, color: /^#[0-9a-f]{6}$/i.test(l.color) ? l.color : '#64748b' }));
          onChange();
        })
        .catch(() => {})
        .finally(() => {
          loading = null;
        });
      return loading;
    },
  };
}
