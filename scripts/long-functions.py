"""Lists the functions in src/ longer than 80 lines, longest first (craft: keep them short).

usage: python3 scripts/long-functions.py
"""
import re,glob,sys
res=[]
for f in glob.glob('src/**/*.rs',recursive=True):
    L=open(f).read().split('\n')
    i=0
    while i<len(L):
        m=re.match(r'^(\s*)(pub(\([^)]*\))? )?(async )?fn (\w+)',L[i])
        if m:
            ind=m.group(1)
            # find the line where body closes: first line == ind + '}' after a line ending with '{'
            j=i
            while j<len(L) and not L[j].rstrip().endswith('{') and not L[j].rstrip().endswith(';'):
                j+=1
            if j<len(L) and L[j].rstrip().endswith(';'):
                i+=1; continue
            k=j+1
            while k<len(L) and L[k]!=ind+'}':
                k+=1
            n=k-i+1
            if n>80: res.append((n,f,i+1,m.group(5)))
            i=k+1 if k<len(L) else i+1
        else: i+=1
for r in sorted(res,reverse=True): print(*r)
print(len(res),'functions over 80 lines')
