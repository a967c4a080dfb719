/**
 * The signed-in key and what the server says it is (GET /v1/me). The key lives
 * in sessionStorage (gone when the tab closes) unless the user asks to be
 * remembered on this device (localStorage). It is only ever sent to this origin.
 */
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from "react";
import { apiJson, type Me } from "./api";

const STORAGE_KEY = "switchyard.key";

interface Auth {
  key: string;
  me: Me;
  signOut(): void;
}

const AuthContext = createContext<Auth | null>(null);

export function useAuth(): Auth {
  const a = useContext(AuthContext);
  if (!a) throw new Error("useAuth outside a signed-in view");
  return a;
}

export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY) ?? localStorage.getItem(STORAGE_KEY);
}

/** Checks the key with the server; throws the server's error for a wrong one. */
export async function checkKey(key: string): Promise<Me> {
  return apiJson<Me>(key, "/v1/me");
}

export function remember(key: string, onThisDevice: boolean): void {
  forget();
  (onThisDevice ? localStorage : sessionStorage).setItem(STORAGE_KEY, key);
}

export function forget(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  localStorage.removeItem(STORAGE_KEY);
}

export function AuthProvider(props: { value: { key: string; me: Me }; onSignOut(): void; children: ReactNode }) {
  const { value, onSignOut } = props;
  const [, setTick] = useState(0);
  const signOut = useCallback(() => {
    forget();
    setTick((t) => t + 1);
    onSignOut();
  }, [onSignOut]);
  const auth = useMemo(() => ({ ...value, signOut }), [value, signOut]);
  return <AuthContext.Provider value={auth}>{props.children}</AuthContext.Provider>;
}
