#!/usr/bin/env python3
"""Regenerate schema_lists.txt: the list, map and struct semantics server-side
apply uses for the built-in kinds the fake serves, read from the markers in
k8s.io/api (`+listType`, `+listMapKey`, `patchStrategy`/`patchMergeKey`,
`+mapType=atomic`, `+structType=atomic`), following kube-openapi's rule: an
explicit listType wins, else patchStrategy=merge gives a map keyed by
patchMergeKey (a set without one), else the list is atomic.

    python3 schema_lists_gen.py <kubernetes/api checkout> > schema_lists.txt.body

(the header and the few apimachinery lines of schema_lists.txt are added by hand).
"""
import os,re,sys
D=sys.argv[1]
out=[]
for path,pkg in [(os.path.join(D,'core/v1/types.go'),'core.v1'),(os.path.join(D,'apps/v1/types.go'),'apps.v1'),(os.path.join(D,'admissionregistration/v1/types.go'),'admissionregistration.v1'),(os.path.join(D,'rbac/v1/types.go'),'rbac.v1'),(os.path.join(D,'policy/v1/types.go'),'policy.v1')]:
    struct=None; comments=[]; struct_markers=[]
    for line in open(path):
        l=line.strip()
        m=re.match(r'type (\w+) struct \{',l)
        if m:
            struct=m.group(1)
            if any('+structType=atomic' in c for c in comments):
                out.append(f'{pkg}.{struct} . atomicstruct')
            comments=[]; continue
        if l.startswith('//'):
            comments.append(l); continue
        if struct and l=='}':
            struct=None; comments=[]; continue
        if struct:
            m=re.match(r'(\w+)\s+(\S+)\s+`(.*)`',l)
            if m:
                ty=m.group(2); tag=m.group(3)
                j=re.search(r'json:"([^,"]*)',tag)
                name=j.group(1) if j else ''
                lt=[c for c in comments if '+listType=' in c]
                keys=[c.split('+listMapKey=')[1].strip() for c in comments if '+listMapKey=' in c]
                ps=re.search(r'patchStrategy:"([^"]*)"',tag); pk=re.search(r'patchMergeKey:"([^"]*)"',tag)
                mt=[c for c in comments if '+mapType=atomic' in c]
                if ty.startswith('[]') and ty!='[]byte':
                    if lt:
                        t=lt[0].split('+listType=')[1].strip()
                        rel = 'map:'+','.join(keys) if t=='map' else t
                    elif ps and 'merge' in ps.group(1):
                        rel = 'map:'+pk.group(1) if pk else 'set'
                    else:
                        rel='atomic'
                    out.append(f'{pkg}.{struct} {name} {rel}')
                elif ty.startswith('map[') and mt:
                    out.append(f'{pkg}.{struct} {name} atomicmap')
                elif any('+structType=atomic' in c for c in comments):
                    out.append(f'{pkg}.{struct} {name} atomicfield')
            if not l.startswith('//'):
                comments=[]
print('\n'.join(out))
